import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { NotesEventSchema, publishReleaseNotes } from '../lib/pipeline/notes.js';

/** PublishReleaseNotes: Markdown and JSON notes in S3. */
export const handler = stepHandler(NotesEventSchema, (event) => publishReleaseNotes(defaultDeps(), event.releaseId));
