// Room events: the chat connection a page already has hands each application event of a
// channel's room (app:POLL, app:CHAT_SETTINGS, …) to whichever feature listens, so features
// need no socket of their own and do not import each other.

export type RoomEvent = { name: string; attributes: Record<string, string> };
type Listener = (e: RoomEvent) => void;

const listeners = new Map<string, Set<Listener>>();

// emitRoomEvent passes one event of a channel's room to its listeners.
export function emitRoomEvent(channel: string, e: RoomEvent) {
  listeners.get(channel.toLowerCase())?.forEach((l) => l(e));
}

// onRoomEvent listens to a channel's room events until the returned function is called.
export function onRoomEvent(channel: string, listener: Listener): () => void {
  const key = channel.toLowerCase();
  let set = listeners.get(key);
  if (!set) {
    set = new Set();
    listeners.set(key, set);
  }
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) listeners.delete(key);
  };
}
