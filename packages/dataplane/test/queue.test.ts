import { describe, expect, it } from 'vitest'
import { KeyedQueue } from '../src/queue.js'

describe('KeyedQueue (one writer per network)', () => {
  it('serialises work on one key and runs other keys in parallel', async () => {
    const q = new KeyedQueue()
    const log: string[] = []
    const gate = Promise.withResolvers<void>()
    const a1 = q.run(['a'], async () => {
      log.push('a1 start')
      await gate.promise
      log.push('a1 end')
    })
    const a2 = q.run(['a'], async () => {
      log.push('a2')
    })
    const b = q.run(['b'], async () => {
      log.push('b')
    })
    await b
    expect(log).toEqual(['a1 start', 'b'])
    gate.resolve()
    await Promise.all([a1, a2])
    expect(log).toEqual(['a1 start', 'b', 'a1 end', 'a2'])
    expect(q.size).toBe(0)
  })

  it('a multi-key task waits for each key and a failure does not block the queue', async () => {
    const q = new KeyedQueue()
    const order: string[] = []
    const failing = q.run(['a'], async () => {
      throw new Error('boom')
    })
    const both = q.run(['a', 'b'], async () => order.push('ab'))
    const after = q.run(['b'], async () => order.push('b'))
    await expect(failing).rejects.toThrow('boom')
    await Promise.all([both, after])
    expect(order).toEqual(['ab', 'b'])
  })
})
