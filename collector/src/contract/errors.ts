/**
 * The one error body of the API: `parameter` names the query or path parameter at fault (400),
 * or is null (404, 500, 503).
 */
import { z } from 'zod/mini';

export const ApiErrorBodySchema = z.object({
  error: z.string(),
  parameter: z.nullable(z.string()),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>;
