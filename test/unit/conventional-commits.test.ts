import { describe, expect, it } from 'vitest';
import { groupChanges, headingFor, parseConventionalCommit } from '../../functions/lib/conventional-commits.js';

describe('parseConventionalCommit', () => {
  it('splits type, scope and subject', () => {
    expect(parseConventionalCommit('feat(api): add greetings in French')).toEqual({
      type: 'feat',
      scope: 'api',
      breaking: false,
      subject: 'add greetings in French',
      conventional: true,
    });
  });

  it('marks `!` after the type or the scope as breaking', () => {
    expect(parseConventionalCommit('feat!: drop v1').breaking).toBe(true);
    const scoped = parseConventionalCommit('refactor(core)!: rename the handler');
    expect(scoped).toMatchObject({ type: 'refactor', scope: 'core', breaking: true, subject: 'rename the handler' });
  });

  it('marks a BREAKING CHANGE footer as breaking', () => {
    const c = parseConventionalCommit('fix: keep the old route\n\nBREAKING CHANGE: the response has a new field');
    expect(c).toMatchObject({ type: 'fix', breaking: true, subject: 'keep the old route' });
  });

  it('takes the header from the first line with text', () => {
    expect(parseConventionalCommit('\n  \nfeat(ui): dark mode\nmore')).toMatchObject({ type: 'feat', scope: 'ui', subject: 'dark mode' });
  });

  it('lower-cases the type and maps common aliases', () => {
    expect(parseConventionalCommit('Fix: typo').type).toBe('fix');
    expect(parseConventionalCommit('feature(ui): dark mode').type).toBe('feat');
  });

  it('keeps a free-form title whole as type other', () => {
    expect(parseConventionalCommit('Merge pull request #12 from x/y')).toEqual({
      type: 'other',
      breaking: false,
      subject: 'Merge pull request #12 from x/y',
      conventional: false,
    });
    // A colon alone does not make a header: the part before it must be one word.
    expect(parseConventionalCommit('Update README: typos').conventional).toBe(false);
    expect(parseConventionalCommit('feat:').conventional).toBe(false);
  });
});

describe('groupChanges', () => {
  const changes = [
    { title: 'chore: bump deps', sha: 'a1' },
    { title: 'fix(greetings): 400 for bad escapes', sha: 'b2' },
    { title: 'feat: languages endpoint', sha: 'c3' },
    { title: 'Merge branch main', sha: 'd4' },
    { title: 'docs: describe lang', sha: 'e5' },
    { title: 'feat(api)!: drop the v0 route', sha: 'f6', author: 'Ada' },
    { title: 'wip: something', sha: 'g7' },
    { title: 'perf: cache the language table', sha: 'h8' },
  ];

  it('orders groups Features, Bug fixes, Performance, Documentation, Chores, then Other changes', () => {
    const { groups } = groupChanges(changes);
    expect(groups.map((g) => g.heading)).toEqual(['Features', 'Bug fixes', 'Performance', 'Documentation', 'Chores', 'Other changes']);
  });

  it('keeps input order inside a group and every change exactly once', () => {
    const { groups } = groupChanges(changes);
    expect(groups.find((g) => g.type === 'feat')!.changes.map((c) => c.sha)).toEqual(['c3', 'f6']);
    // Unknown types and free-form titles both land in Other changes.
    expect(groups.find((g) => g.type === 'other')!.changes.map((c) => c.sha)).toEqual(['d4', 'g7']);
    expect(groups.flatMap((g) => g.changes.map((c) => c.sha)).sort()).toEqual(changes.map((c) => c.sha).sort());
  });

  it('calls out breaking changes and keeps them in their own type group too', () => {
    const { breaking } = groupChanges(changes);
    expect(breaking.map((c) => [c.sha, c.author, c.commit.subject])).toEqual([['f6', 'Ada', 'drop the v0 route']]);
  });

  it('returns no groups for no changes', () => {
    expect(groupChanges([])).toEqual({ breaking: [], groups: [] });
  });

  it('names unknown types Other changes', () => {
    expect(headingFor('fix')).toBe('Bug fixes');
    expect(headingFor('wip')).toBe('Other changes');
  });
});
