import { useToast } from '../../../lib/toast';
import { useBell, useSetBell } from '../api/notifications';

// BellButton rings or silences the go-live notices of a followed channel, beside Follow.
export function BellButton({ username }: { username: string }) {
  const bell = useBell(username, true);
  const set = useSetBell(username);
  const toast = useToast();
  const on = bell.data?.enabled ?? false;
  return (
    <button
      type="button"
      className={`btn ${on ? 'btn-primary' : 'btn-secondary'} bell-button`}
      aria-pressed={on}
      aria-label={on ? 'Notifications on' : 'Notifications off'}
      title={on ? `You are notified when ${username} goes live` : `Notify me when ${username} goes live`}
      disabled={!bell.data || set.isPending}
      data-testid="bell"
      onClick={() =>
        set.mutate(!on, {
          onSuccess: (b) => toast.success(b.enabled ? `You will be notified when ${username} goes live` : `Notifications for ${username} are off`),
          onError: () => toast.error('Could not change notifications'),
        })
      }
    >
      <span aria-hidden="true">{on ? '🔔' : '🔕'}</span>
    </button>
  );
}
