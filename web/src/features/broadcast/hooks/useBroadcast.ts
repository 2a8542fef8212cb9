// useBroadcast owns a web broadcast: the camera and microphone, the compositor, and the WHIP
// session with its reconnects. The card only renders its state and calls its actions.
import { useCallback, useEffect, useRef, useState } from 'react';
import { Compositor, FPS, HEIGHT, WIDTH } from '../lib/compositor';
import { publish, WhipError, type WhipSession } from '../lib/whip';

export type Status = 'closed' | 'opening' | 'ready' | 'connecting' | 'live' | 'reconnecting';

export const permissionMessage = 'You must allow access to both your camera and microphone';

// connectTimeout bounds going live, as the reference's broadcast SDK does.
const connectTimeout = 10_000;
// Reconnect attempts after a dropped connection, in milliseconds to wait before each.
export const reconnectDelays = [500, 1000, 2000, 4000, 8000, 8000, 8000];

export type Devices = { cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] };

type Options = {
  streamKey: string;
  whipUrl: string;
  onError: (text: string) => void;
  onInfo: (text: string) => void;
};

function waitConnected(pc: RTCPeerConnection, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pc.removeEventListener('connectionstatechange', check);
      reject(new Error('timed out'));
    }, ms);
    function check() {
      if (pc.connectionState === 'connected') {
        clearTimeout(timer);
        pc.removeEventListener('connectionstatechange', check);
        resolve();
      } else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        clearTimeout(timer);
        pc.removeEventListener('connectionstatechange', check);
        reject(new Error(pc.connectionState));
      }
    }
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cameraConstraints(deviceId?: string): MediaTrackConstraints {
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    width: { ideal: WIDTH, max: WIDTH },
    height: { ideal: HEIGHT, max: HEIGHT },
    frameRate: { ideal: FPS, max: FPS },
  };
}

export function useBroadcast({ streamKey, whipUrl, onError, onInfo }: Options) {
  const [status, setStatus] = useState<Status>('closed');
  const [permissionError, setPermissionError] = useState('');
  const [micOn, setMicOn] = useState(true);
  const [cameraOn, setCameraOn] = useState(true);
  const [sharing, setSharing] = useState(false);
  const [cameraOnScreen, setCameraOnScreen] = useState(true);
  const [devices, setDevices] = useState<Devices>({ cameras: [], microphones: [] });
  const [cameraId, setCameraId] = useState('');
  const [micId, setMicId] = useState('');
  const [preview, setPreview] = useState<MediaStream | null>(null);

  const compositor = useRef<Compositor | null>(null);
  const camera = useRef<MediaStream | null>(null);
  const mic = useRef<MediaStream | null>(null);
  const screen = useRef<MediaStream | null>(null);
  const session = useRef<WhipSession | null>(null);
  const generation = useRef(0); // bumps on every start/end, so stale reconnect loops stop
  const statusRef = useRef<Status>('closed');
  const layout = useRef({ cameraOn: true, cameraOnScreen: true });

  const set = useCallback((s: Status) => {
    statusRef.current = s;
    setStatus(s);
  }, []);

  const refreshDevices = useCallback(async () => {
    const all = await navigator.mediaDevices.enumerateDevices();
    setDevices({ cameras: all.filter((d) => d.kind === 'videoinput'), microphones: all.filter((d) => d.kind === 'audioinput') });
  }, []);

  // open asks for the camera and microphone (both are required) and shows the preview.
  const open = useCallback(async () => {
    if (statusRef.current !== 'closed') return;
    set('opening');
    setPermissionError('');
    try {
      const media = await navigator.mediaDevices.getUserMedia({ video: cameraConstraints(), audio: true });
      if (media.getVideoTracks().length === 0 || media.getAudioTracks().length === 0) {
        media.getTracks().forEach((t) => t.stop());
        throw new Error('missing device');
      }
      camera.current = new MediaStream(media.getVideoTracks());
      mic.current = new MediaStream(media.getAudioTracks());
      setCameraId(media.getVideoTracks()[0].getSettings().deviceId ?? '');
      setMicId(media.getAudioTracks()[0].getSettings().deviceId ?? '');
      const c = new Compositor();
      c.setCamera(camera.current);
      compositor.current = c;
      setPreview(new MediaStream([c.track()]));
      await refreshDevices();
      set('ready');
    } catch {
      setPermissionError(permissionMessage);
      set('closed');
    }
  }, [refreshDevices, set]);

  const connect = useCallback(async (): Promise<WhipSession> => {
    const video = compositor.current?.track();
    const audio = mic.current?.getAudioTracks()[0];
    if (!video || !audio) throw new Error('no media');
    const s = await publish(whipUrl, streamKey, video, audio);
    try {
      await waitConnected(s.pc, connectTimeout);
    } catch (e) {
      await s.end();
      throw e;
    }
    return s;
  }, [streamKey, whipUrl]);

  // watch follows a live session's connection and, when it drops, reconnects with a new WHIP
  // session (a new stream session on the server), giving up after reconnectDelays.
  const watch = useCallback(
    (first: WhipSession, gen: number) => {
      const follow = (s: WhipSession) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const reconnect = async () => {
          if (gen !== generation.current || session.current !== s) return;
          set('reconnecting');
          onError('Stream disconnected');
          await s.end(); // frees the channel at once if the server can still be reached
          for (const delay of reconnectDelays) {
            await sleep(delay);
            if (gen !== generation.current) return;
            try {
              const next = await connect();
              if (gen !== generation.current) {
                await next.end();
                return;
              }
              session.current = next;
              follow(next);
              set('live');
              onInfo('Reconnected');
              return;
            } catch (e) {
              // The server may still hold the dropped session for a few seconds (409): try again.
              if (e instanceof WhipError && e.status !== 409 && e.status < 500) break;
            }
          }
          if (gen === generation.current) {
            session.current = null;
            set('ready');
            onError('Could not go live');
          }
        };
        s.pc.addEventListener('connectionstatechange', () => {
          clearTimeout(timer);
          if (s.pc.connectionState === 'failed') void reconnect();
          // "disconnected" can heal by itself; give it a few seconds first.
          if (s.pc.connectionState === 'disconnected') timer = setTimeout(() => void reconnect(), 4000);
        });
      };
      follow(first);
    },
    [connect, onError, onInfo, set],
  );

  const start = useCallback(async () => {
    if (statusRef.current !== 'ready') return;
    const gen = ++generation.current;
    set('connecting');
    try {
      const s = await connect();
      if (gen !== generation.current) {
        await s.end();
        return;
      }
      session.current = s;
      watch(s, gen);
      set('live');
    } catch (e) {
      if (gen !== generation.current) return;
      set('ready');
      onError(e instanceof WhipError && e.code === 'ChannelAlreadyLive' ? 'Your channel is already live' : 'Could not go live');
    }
  }, [connect, onError, set, watch]);

  const end = useCallback(async () => {
    generation.current++;
    const s = session.current;
    session.current = null;
    if (statusRef.current !== 'closed') set('ready');
    await s?.end();
  }, [set]);

  const toggleMic = useCallback(() => {
    const next = !micOn;
    mic.current?.getAudioTracks().forEach((t) => (t.enabled = next));
    setMicOn(next);
  }, [micOn]);

  const applyLayout = useCallback((change: Partial<typeof layout.current>) => {
    layout.current = { ...layout.current, ...change };
    compositor.current?.setLayout(layout.current);
  }, []);

  const toggleCamera = useCallback(() => {
    const next = !cameraOn;
    camera.current?.getVideoTracks().forEach((t) => (t.enabled = next));
    applyLayout({ cameraOn: next });
    setCameraOn(next);
  }, [applyLayout, cameraOn]);

  const stopSharing = useCallback(() => {
    screen.current?.getTracks().forEach((t) => t.stop());
    screen.current = null;
    compositor.current?.setScreen(null);
    setSharing(false);
  }, []);

  const toggleScreen = useCallback(async () => {
    if (screen.current) {
      stopSharing();
      return;
    }
    try {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: FPS, width: { max: 1920 }, height: { max: 1080 } }, audio: false });
      screen.current = s;
      // The browser's own "Stop sharing" button ends the track.
      s.getVideoTracks()[0]?.addEventListener('ended', () => {
        if (screen.current === s) stopSharing();
      });
      compositor.current?.setScreen(s);
      setSharing(true);
    } catch {
      // the user closed the picker: nothing changes
    }
  }, [stopSharing]);

  const showCameraOnScreen = useCallback(
    (on: boolean) => {
      applyLayout({ cameraOnScreen: on });
      setCameraOnScreen(on);
    },
    [applyLayout],
  );

  const chooseCamera = useCallback(
    async (deviceId: string) => {
      const next = await navigator.mediaDevices.getUserMedia({ video: cameraConstraints(deviceId) });
      camera.current?.getTracks().forEach((t) => t.stop());
      next.getVideoTracks().forEach((t) => (t.enabled = layout.current.cameraOn));
      camera.current = next;
      compositor.current?.setCamera(next);
      setCameraId(deviceId);
      const label = devices.cameras.find((d) => d.deviceId === deviceId)?.label || 'the selected camera';
      onInfo(`Camera changed to ${label}`);
    },
    [devices.cameras, onInfo],
  );

  const chooseMic = useCallback(
    async (deviceId: string) => {
      const next = await navigator.mediaDevices.getUserMedia({ audio: { deviceId: { exact: deviceId } } });
      const track = next.getAudioTracks()[0];
      track.enabled = micOn;
      const sender = session.current?.pc.getSenders().find((s) => s.track?.kind === 'audio');
      await sender?.replaceTrack(track);
      mic.current?.getTracks().forEach((t) => t.stop());
      mic.current = next;
      setMicId(deviceId);
      const label = devices.microphones.find((d) => d.deviceId === deviceId)?.label || 'the selected microphone';
      onInfo(`Mic changed to ${label}`);
    },
    [devices.microphones, micOn, onInfo],
  );

  // Leaving the page (or the app) ends the broadcast and frees the devices.
  useEffect(() => {
    const gen = generation;
    const onHide = () => void session.current?.end();
    window.addEventListener('pagehide', onHide);
    return () => {
      window.removeEventListener('pagehide', onHide);
      gen.current++;
      void session.current?.end();
      session.current = null;
      [camera, mic, screen].forEach((r) => r.current?.getTracks().forEach((t) => t.stop()));
      compositor.current?.close();
    };
  }, []);

  return {
    status,
    permissionError,
    preview,
    micOn,
    cameraOn,
    sharing,
    cameraOnScreen,
    devices,
    cameraId,
    micId,
    open,
    start,
    end,
    toggleMic,
    toggleCamera,
    toggleScreen,
    showCameraOnScreen,
    chooseCamera,
    chooseMic,
  };
}
