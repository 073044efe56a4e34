/**
 * The on-call command as every place prints it: alarm descriptions, the DlqCommand stack output,
 * the tool's --help, and (checked by test/unit/tool-command.test.ts) the README and the docs.
 *
 * The package is not published under its own name yet, so the command runs the copy in a clone
 * of this repository and never downloads one: `npx --no-install` refuses to fetch a package that
 * is not installed (a stranger's package of that name included). Once the package is published,
 * this becomes `npx moengage-webhook-adapter@<exact version>`, here and in the docs.
 */
export const TOOL_COMMAND = 'npx --no-install moengage-adapter';

/** The command with its arguments, e.g. `toolCommand('dlq list --stack X')`. */
export function toolCommand(args: string): string {
  return `${TOOL_COMMAND} ${args}`;
}
