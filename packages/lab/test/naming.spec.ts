import { describe, expect, it } from 'vitest'
import { pathsToKeep } from '../src/holder.js'
import {
  hostnameOf,
  parseNodeId,
  validateHostCount,
  validateLabName,
  validateMtu,
  validateNode,
} from '../src/naming.js'
import { hostBatch, switchBatch } from '../src/underlay.js'

describe('lab naming and plans', () => {
  it('validates names, host counts and nodes', () => {
    expect(validateLabName('lab1')).toBe('lab1')
    for (const bad of ['', '1lab', 'Lab', 'toolongname', 'a-b'])
      expect(() => validateLabName(bad)).toThrow(/invalid lab name/)
    expect(() => validateHostCount(0)).toThrow()
    expect(() => validateHostCount(2.5)).toThrow()
    expect(validateMtu(1400)).toBe(1400)
    for (const bad of [575, 9001, 1400.5, Number.NaN]) expect(() => validateMtu(bad)).toThrow(/invalid MTU/)
    expect(validateNode('ext', 3)).toBe('ext')
    expect(() => validateNode(4, 3)).toThrow(/no host 4/)
    expect(hostnameOf('lab', 2)).toBe('lab-2')
    expect(hostnameOf('lab', 'switch')).toBe('lab-sw')
    expect(parseNodeId('12')).toBe(12)
    expect(parseNodeId('0')).toBeUndefined()
  })

  it('keeps paths under the private dirs except /run', () => {
    expect(pathsToKeep(['/work/main', '/tmp/ci-clone', '/run/x', '/var/log/a/', '/tmp'])).toEqual({
      keep: ['/tmp/ci-clone', '/var/log/a'],
      dropped: ['/run/x', '/tmp'],
    })
  })

  it('creates each host end in the host namespace, then addresses it there', () => {
    const sw = switchBatch([[1, 100]], 200)
    expect(sw).toContain('link add br0 mtu 1500 type bridge\n')
    expect(sw).toContain('link add h1 mtu 1500 type veth peer name eth0 netns 100 mtu 1500\n')
    expect(switchBatch([[1, 100]], 200, 9000)).toContain(
      'link add h1 mtu 9000 type veth peer name eth0 netns 100 mtu 9000\n',
    )
    expect(sw).toContain('link add x0 type veth peer name eth0 netns 200\n')
    expect(hostBatch(2)).toBe(
      'link set lo up\naddr add 192.0.2.12/24 dev eth0\nlink set eth0 up\nroute add default via 192.0.2.1\n',
    )
  })
})
