import { createMemoryHub } from '../src/index.js'
import { describeNetdbContract } from './contract.js'

describeNetdbContract('the in-memory hub', () => {
  const hub = createMemoryHub()
  return {
    pubsubs: async (ids) => ids.map((id) => hub.pubsub(id)),
    close: async () => {},
  }
})
