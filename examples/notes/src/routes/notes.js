import { requireUser } from '../auth.js';
import { HttpError } from '../errors.js';

const fields = {
  title: { type: 'string', minLength: 1, maxLength: 200 },
  body: { type: 'string', maxLength: 10000 },
  tags: { type: 'array', maxItems: 10, uniqueItems: true, items: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' } },
};
const idParam = { type: 'object', properties: { id: { type: 'string' } } };

/** What the API shows of a note: not who owns it (always the caller). */
const view = ({ id, title, body, tags, createdAt, updatedAt }) => ({ id, title, body, tags, createdAt, updatedAt });

/** A signed-in user's notes. */
export default async function noteRoutes(app, { db, tokens }) {
  app.addHook('preHandler', requireUser(tokens, db));

  const owned = (request) => {
    const note = db.noteOf(request.user.id, request.params.id);
    if (!note) throw new HttpError(404, 'NOT_FOUND', `no note ${request.params.id}`);
    return note;
  };

  app.post(
    '/notes',
    { schema: { body: { type: 'object', required: ['title'], additionalProperties: false, properties: fields } } },
    async (request, reply) => {
      const { title, body = '', tags = [] } = request.body;
      return reply.code(201).send(view(db.createNote(request.user.id, { title, body, tags })));
    },
  );

  app.get('/notes', { schema: { querystring: { type: 'object', properties: { tag: fields.tags.items } } } }, async (request) => {
    const items = db.listNotes(request.user.id, { tag: request.query.tag }).map(view);
    return { items, total: items.length };
  });

  app.get('/notes/:id', { schema: { params: idParam } }, async (request) => view(owned(request)));

  app.patch(
    '/notes/:id',
    {
      schema: {
        params: idParam,
        body: { type: 'object', minProperties: 1, additionalProperties: false, properties: fields },
      },
    },
    async (request) => view(db.updateNote(owned(request), request.body)),
  );

  app.delete('/notes/:id', { schema: { params: idParam } }, async (request, reply) => {
    db.deleteNote(owned(request).id);
    return reply.code(204).send();
  });
}
