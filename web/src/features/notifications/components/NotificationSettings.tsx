import { useEffect, useState } from 'react';
import { useToast } from '../../../lib/toast';
import { useNotificationSettings, useSetNotificationSettings } from '../api/notifications';
import { currentSubscription, disablePush, enablePush, pushSupported } from '../lib/push';

// NotificationSettings chooses how go-live notices come (email, Web Push) and subscribes this
// browser to Web Push. Which channels notify is the bell on each channel page.
export function NotificationSettings() {
  const settings = useNotificationSettings();
  const save = useSetNotificationSettings();
  const toast = useToast();
  const [browserOn, setBrowserOn] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [pushError, setPushError] = useState('');

  useEffect(() => {
    let live = true;
    currentSubscription().then(
      (s) => live && setBrowserOn(!!s),
      () => live && setBrowserOn(false),
    );
    return () => {
      live = false;
    };
  }, []);

  const change = (c: { email?: boolean; push?: boolean }) =>
    save.mutate(c, { onSuccess: () => toast.success('Notification settings saved'), onError: () => toast.error('Could not save') });

  const toggleBrowser = async () => {
    setBusy(true);
    setPushError('');
    try {
      if (browserOn) await disablePush();
      else await enablePush();
      setBrowserOn(!browserOn);
    } catch (e) {
      setPushError(e instanceof Error && e.message ? e.message : 'Could not subscribe this browser.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card settings-section" aria-labelledby="notifications-heading">
      <h2 id="notifications-heading">Notifications</h2>
      <p className="hint">Ring the bell beside Follow on a channel page to hear when it goes live.</p>
      <label className="checkbox">
        <input type="checkbox" data-testid="notify-email" checked={settings.data?.email ?? false} disabled={!settings.data || save.isPending} onChange={(e) => change({ email: e.target.checked })} />{' '}
        Email me when a channel I ring the bell for goes live
      </label>
      <label className="checkbox">
        <input type="checkbox" data-testid="notify-push" checked={settings.data?.push ?? false} disabled={!settings.data || save.isPending} onChange={(e) => change({ push: e.target.checked })} />{' '}
        Send browser notifications (Web Push)
      </label>
      {pushSupported() ? (
        <p>
          <button type="button" className="btn btn-secondary" onClick={toggleBrowser} disabled={busy || browserOn === null} data-testid="push-browser">
            {browserOn ? 'Stop notifications on this browser' : 'Enable notifications on this browser'}
          </button>
        </p>
      ) : (
        <p className="hint">This browser does not support Web Push.</p>
      )}
      {pushError && (
        <p className="error-text" role="alert">
          {pushError}
        </p>
      )}
    </section>
  );
}
