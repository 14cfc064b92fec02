import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { HttpError } from './errors.js';

const scryptAsync = promisify(scrypt);

/** `salt:hash`, both hex. */
export async function hashPassword(password) {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32);
  return `${salt.toString('hex')}:${hash.toString('hex')}`;
}

export async function verifyPassword(password, stored) {
  const [salt, hash] = stored.split(':');
  const actual = await scryptAsync(password, Buffer.from(salt, 'hex'), 32);
  return timingSafeEqual(actual, Buffer.from(hash, 'hex'));
}

/** Session tokens: `<userId>.<expiry>.<hmac>`, signed with NOTES_TOKEN_SECRET. */
export function createTokens(secret, ttlSeconds) {
  const sign = (payload) => createHmac('sha256', secret).update(payload).digest('base64url');
  return {
    issue(userId) {
      const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
      const payload = `${userId}.${expiresAt}`;
      return { token: `${payload}.${sign(payload)}`, expiresAt: new Date(expiresAt * 1000).toISOString() };
    },
    /** The user id a valid, unexpired token names, or undefined. */
    verify(token) {
      const [userId, expiresAt, signature] = token.split('.');
      if (!userId || !expiresAt || !signature) return undefined;
      const expected = Buffer.from(sign(`${userId}.${expiresAt}`));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      return Number(expiresAt) * 1000 > Date.now() ? userId : undefined;
    },
  };
}

/** A preHandler that puts the signed-in user on `request.user`, or answers 401. */
export function requireUser(tokens, db) {
  return async (request) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (\S+)$/.exec(header);
    const user = match ? db.userById(tokens.verify(match[1]) ?? '') : undefined;
    if (!user) throw new HttpError(401, 'UNAUTHORIZED', 'a valid "Authorization: Bearer <token>" header is required');
    request.user = user;
  };
}

/** What the API shows of a user: never the password hash. */
export const publicUser = ({ id, username, displayName, createdAt }) => ({ id, username, displayName, createdAt });
