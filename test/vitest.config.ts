import { defineConfig } from 'vitest/config'

// Three tiers. netns and e2e need root and a real kernel; they run one file at a time
// because each lab is several hosts with real agents on a 2-core machine.
export default defineConfig({
  test: {
    // one file at a time: root tiers share the machine's 2 cores and kernel
    fileParallelism: false,
    projects: [
      { test: { name: 'unit', include: ['unit/**/*.test.ts'] } },
      {
        test: {
          name: 'netns',
          include: ['netns/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        // QEMU VM hosts under TCG (issue 13): minutes per step; run by `turbo run test:vm`
        test: {
          name: 'vm',
          include: ['vm/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
})
