import { deleteSubscription, pushKey, saveSubscription, type Subscription } from '../api/notifications';

// pushSupported: the browser has service workers and the Push API.
export const pushSupported = () => typeof navigator !== 'undefined' && 'serviceWorker' in navigator && typeof window !== 'undefined' && 'PushManager' in window;

// registration is the app's service worker (public/sw.js), which shows go-live pushes.
function registration(): Promise<ServiceWorkerRegistration> {
  return navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready);
}

// b64ToBytes decodes the server's base64url VAPID key for applicationServerKey.
export function b64ToBytes(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const raw = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

// currentSubscription is this browser's push subscription, if it has one.
export async function currentSubscription(): Promise<PushSubscription | null> {
  if (!pushSupported()) return null;
  const reg = await navigator.serviceWorker.getRegistration('/');
  return reg ? reg.pushManager.getSubscription() : null;
}

// enablePush asks for permission, subscribes this browser with the server's VAPID key and
// registers the subscription for the signed-in account.
export async function enablePush(): Promise<void> {
  if (!pushSupported()) throw new Error('This browser does not support Web Push.');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new Error('Notifications are blocked for this site in the browser.');
  const reg = await registration();
  const { publicKey } = await pushKey();
  let sub = await reg.pushManager.getSubscription();
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64ToBytes(publicKey) });
  await saveSubscription(sub.toJSON() as Subscription);
}

// disablePush unsubscribes this browser and tells the server.
export async function disablePush(): Promise<void> {
  const sub = await currentSubscription();
  if (!sub) return;
  await deleteSubscription(sub.endpoint);
  await sub.unsubscribe();
}
