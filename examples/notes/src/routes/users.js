import { hashPassword, publicUser, requireUser, verifyPassword } from '../auth.js';
import { HttpError } from '../errors.js';

const credentials = {
  username: { type: 'string', pattern: '^[A-Za-z0-9_.-]{3,64}$' },
  password: { type: 'string', minLength: 8, maxLength: 128 },
};

/** Registering, signing in, and who the token belongs to. */
export default async function userRoutes(app, { db, tokens }) {
  app.post(
    '/users',
    {
      schema: {
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: { ...credentials, displayName: { type: 'string', minLength: 1, maxLength: 80 } },
        },
      },
    },
    async (request, reply) => {
      const { username, password, displayName } = request.body;
      const user = db.createUser({ username, displayName: displayName ?? username, passwordHash: await hashPassword(password) });
      if (!user) throw new HttpError(409, 'USERNAME_TAKEN', `the username "${username}" is taken`);
      return reply.code(201).send({ user: publicUser(user), ...tokens.issue(user.id) });
    },
  );

  app.post(
    '/sessions',
    { schema: { body: { type: 'object', required: ['username', 'password'], properties: credentials } } },
    async (request) => {
      const { username, password } = request.body;
      const user = db.userByName(username);
      if (!user || !(await verifyPassword(password, user.passwordHash))) {
        throw new HttpError(401, 'INVALID_CREDENTIALS', 'wrong username or password');
      }
      return { user: publicUser(user), ...tokens.issue(user.id) };
    },
  );

  app.get('/users/me', { preHandler: requireUser(tokens, db) }, async (request) => publicUser(request.user));
}
