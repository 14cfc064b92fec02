import { App } from 'aws-cdk-lib';
import { buildApp } from './build-app.js';

/** The CDK app entry (`cdk.json` runs `npx tsx infra/app.ts`); see buildApp for its settings. */
const app = new App();
buildApp(app);
app.synth();
