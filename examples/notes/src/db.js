import { nanoid } from 'nanoid';

/**
 * In-memory storage of users and notes. Each process has its own: a restart starts empty, which is what the
 * team's tests expect (each run registers its own user).
 */
export function createDb() {
  const users = new Map();
  const usernames = new Map();
  const notes = new Map();

  return {
    createUser({ username, passwordHash, displayName }) {
      const key = username.toLowerCase();
      if (usernames.has(key)) return undefined;
      const user = { id: `usr_${nanoid(12)}`, username, displayName, passwordHash, createdAt: new Date().toISOString() };
      users.set(user.id, user);
      usernames.set(key, user.id);
      return user;
    },
    userById: (id) => users.get(id),
    userByName: (username) => users.get(usernames.get(username.toLowerCase())),

    createNote(ownerId, { title, body, tags }) {
      const now = new Date().toISOString();
      const note = { id: `nte_${nanoid(12)}`, ownerId, title, body, tags, createdAt: now, updatedAt: now };
      notes.set(note.id, note);
      return note;
    },
    /** The owner's notes, newest first; with `tag`, only those carrying it. */
    listNotes(ownerId, { tag } = {}) {
      return [...notes.values()]
        .filter((n) => n.ownerId === ownerId && (tag === undefined || n.tags.includes(tag)))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },
    /** A note only its owner can see: anyone else gets undefined, as if it did not exist. */
    noteOf(ownerId, id) {
      const note = notes.get(id);
      return note?.ownerId === ownerId ? note : undefined;
    },
    updateNote(note, changes) {
      Object.assign(note, changes, { updatedAt: new Date().toISOString() });
      return note;
    },
    deleteNote: (id) => notes.delete(id),
  };
}
