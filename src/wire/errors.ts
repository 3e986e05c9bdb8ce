/**
 * Typed wire-format errors with stable codes. The codec never throws anything else for bad
 * input, so the server can map any WireError on a query to FORMERR without guessing.
 */

type WireErrorCode =
  | 'E_SHORT' // read past the end of the buffer
  | 'E_TRAILING' // bytes left after a complete message / rdata
  | 'E_LABEL_TOO_LONG' // label > 63 octets (RFC 1035 §2.3.4)
  | 'E_NAME_TOO_LONG' // name > 255 octets in wire form
  | 'E_LABEL_TYPE' // reserved label type bits 01/10 (RFC 6891 §5 retired extended labels)
  | 'E_POINTER_LOOP' // too many compression pointers
  | 'E_POINTER_FORWARD' // pointer that does not point strictly backwards
  | 'E_EMPTY_LABEL' // empty label in the middle of a presentation name (a..b)
  | 'E_ESCAPE' // malformed \DDD or trailing backslash
  | 'E_RDATA' // rdata that does not match its type's layout
  | 'E_SYNTAX' // presentation format that cannot be parsed
  | 'E_TYPE' // unknown type mnemonic
  | 'E_CLASS' // unknown class mnemonic
  | 'E_OVERFLOW'; // an encoder would exceed its size budget

export class WireError extends Error {
  readonly code: WireErrorCode;
  constructor(code: WireErrorCode, message: string) {
    super(message);
    this.name = 'WireError';
    this.code = code;
  }

  /** Returns a copy of this error whose message is prefixed with the context (e.g. "TLSA.data: ..."). */
  withContext(context: string): WireError {
    return new WireError(this.code, `${context}: ${this.message}`);
  }
}
