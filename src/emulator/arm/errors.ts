/** An ARM error: `{ "error": { "code", "message" } }` with the HTTP status Azure uses for it. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (type: string, name: string, rg: string): ArmError =>
  new ArmError(404, 'ResourceNotFound', `The Resource 'Microsoft.Compute/${type}/${name}' under resource group '${rg}' was not found.`);

export const invalid = (message: string): ArmError => new ArmError(400, 'InvalidParameter', message);
export const notAllowed = (message: string): ArmError => new ArmError(409, 'OperationNotAllowed', message);
