import type { z } from 'zod'

export type Method = 'GET' | 'POST'

/** One API call: its method and versioned path, and the schemas of both directions. */
export interface Endpoint<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly method: Method
  readonly path: string
  readonly request: Req
  readonly response: Res
}

export function endpoint<Req extends z.ZodType, Res extends z.ZodType>(
  method: Method,
  path: string,
  request: Req,
  response: Res,
): Endpoint<Req, Res> {
  return { method, path, request, response }
}
