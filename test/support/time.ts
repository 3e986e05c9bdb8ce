/** Waiting in tests: a promise that settles after a number of milliseconds (for polling loops and pacing). */

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
