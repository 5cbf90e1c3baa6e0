/** Runs `fn` and returns what it threw (fails if it did not throw). */
export function catchErr(fn: () => unknown): Error & { code: string } {
  try {
    fn()
  } catch (err) {
    return err as Error & { code: string }
  }
  throw new Error('expected a throw')
}
