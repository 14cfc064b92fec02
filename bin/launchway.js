#!/usr/bin/env node
// The CLI is TypeScript; tsx runs it directly so `npx launchway` works from a checkout or an install.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
