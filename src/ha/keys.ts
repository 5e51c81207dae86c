// Redis key names. The node id is validated to hold no ':' so that a call-id (which may hold
// anything) can only ever end a key, never be mistaken for a node.
export interface KeySpace {
  readonly prefix: string;
}

export const NODE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export const callKey = (k: KeySpace, node: string, callId: string): string => `${k.prefix}:call:${node}:${callId}`;
export const indexKey = (k: KeySpace, node: string, callId: string): string => `${k.prefix}:idx:${node}:${callId}`;
export const heartbeatKey = (k: KeySpace, node: string): string => `${k.prefix}:hb:${node}`;
export const callPrefix = (k: KeySpace, node: string): string => `${k.prefix}:call:${node}:`;
export const indexPrefix = (k: KeySpace, node: string): string => `${k.prefix}:idx:${node}:`;
/** "Released by <node>": the owner closed the call's sockets and wrote its final marks; a standby takes it at once. */
export const releaseKey = (k: KeySpace, node: string, callId: string): string => `${k.prefix}:rel:${node}:${callId}`;
export const releasePrefix = (k: KeySpace, node: string): string => `${k.prefix}:rel:${node}:`;
