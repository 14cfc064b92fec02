/**
 * The construct library: `import { ReleasePipeline } from 'launchway'`. Everything a CDK app needs to put a
 * Launchway pipeline in its own stack, and nothing of the CLI or the embedded runtime.
 */
export { loadCatalogFile } from './catalog-file.js';
export { LaunchwayStack, type LaunchwayStackProps } from './stack.js';
export { ReleasePipeline, type CatalogInput as Catalog, type ReleasePipelineProps } from './release-pipeline.js';
