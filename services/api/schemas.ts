/** JSON schema pieces shared by the API's items and parameters. */
export const endpointSchema = { type: 'object', required: ['ip', 'port'], properties: { ip: { type: 'string' }, port: { type: 'integer' } } } as const;

export const callIdParam = { type: 'string', minLength: 1, maxLength: 512 } as const;
