// CoAP option numbers (RFC 7252 §12.2, RFC 7641, RFC 7959, RFC 9175) for tests that frame datagrams by hand.
export const ETAG = 4;
export const OBSERVE = 6;
export const URI_PATH = 11;
export const CONTENT_FORMAT = 12;
export const URI_QUERY = 15;
export const ACCEPT = 17;
export const BLOCK2 = 23;
export const BLOCK1 = 27;
export const PROXY_URI = 35;
export const SIZE1 = 60;
export const ECHO = 252;
export const REQUEST_TAG = 292;
