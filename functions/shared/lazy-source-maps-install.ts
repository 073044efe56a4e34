/**
 * The first module of each Lambda bundle (scripts/build.ts puts it ahead of the handler): installs
 * the lazy source-map hook before any other module of the bundle runs. In the bundle,
 * `import.meta.url` is the bundle's own URL (file:///var/task/index.mjs).
 */
import { installLazySourceMaps } from './lazy-source-maps';

installLazySourceMaps(import.meta.url);
