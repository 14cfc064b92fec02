import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { PublishReleaseNotesEventSchema, publishReleaseNotes } from '../lib/pipeline/publish-release-notes.js';

/** PublishReleaseNotes: Markdown and JSON notes in S3. */
export const handler = stepHandler(PublishReleaseNotesEventSchema, (event) => publishReleaseNotes(defaultDeps(), event.releaseId));
