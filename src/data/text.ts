// What the library needs of the data-derivation vocabulary (tools/text.ts derives the shipped sets): split names and
// the token-labelling task's labels.

export type Split = 'train' | 'validation' | 'test';
export const SPLITS: readonly Split[] = ['train', 'validation', 'test'];

/** The capitalisation/punctuation restoration labels, one per word. */
export const TOKEN_LABELS = ['O', 'CAP', 'PERIOD', 'COMMA', 'QUESTION'] as const;
export type TokenLabel = (typeof TOKEN_LABELS)[number];
