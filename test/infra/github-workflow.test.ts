import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe } from 'vitest';
import { REPO_ROOT } from '../../infra/paths.js';
import { releaseWorkflowChecks } from '../helpers/release-workflow-checks.js';

/**
 * examples/github-actions/release.yml against what it drives (test/helpers/release-workflow-checks.ts). The
 * workflow `launchway init` writes gets the same checks in test/integration/cli-init.test.ts.
 */

describe('GitHub Actions release workflow (examples/github-actions/release.yml)', () => {
  releaseWorkflowChecks(() => readFileSync(path.join(REPO_ROOT, 'examples', 'github-actions', 'release.yml'), 'utf8'), {
    LAUNCHWAY_STACK: '${{ vars.LAUNCHWAY_STACK }}',
  });
});
