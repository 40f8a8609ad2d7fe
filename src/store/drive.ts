/**
 * A store sequence written once as a generator of requests, run by either adapter: SQLite answers each
 * request synchronously (the whole run stays inside one synchronous transaction, no promise per step),
 * PostgreSQL answers with a promise per round trip.
 */
export function drive<Q, T, N>(gen: Generator<Q, T, N>, answer: (q: Q) => N): T {
  for (let step = gen.next(); ; step = gen.next(answer(step.value))) if (step.done) return step.value;
}

export async function driveAsync<Q, T, N>(gen: Generator<Q, T, N>, answer: (q: Q) => Promise<N>): Promise<T> {
  for (let step = gen.next(); ; step = gen.next(await answer(step.value))) if (step.done) return step.value;
}
