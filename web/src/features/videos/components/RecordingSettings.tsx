import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../../lib/api-client';
import { useToast } from '../../../lib/toast';

const recordingKey = ['recording-setting'] as const;

// RecordingSettings is the channel's own recording switch (on by default), in Settings.
export function RecordingSettings() {
  const qc = useQueryClient();
  const toast = useToast();
  const setting = useQuery({ queryKey: recordingKey, queryFn: () => api<{ enabled: boolean }>('GET', '/api/me/recording') });
  const save = useMutation({
    mutationFn: (enabled: boolean) => api<{ enabled: boolean }>('PUT', '/api/me/recording', { enabled }),
    onSuccess: (v) => {
      qc.setQueryData(recordingKey, v);
      toast.success(v.enabled ? 'Your streams will be recorded' : 'Your streams will not be recorded');
    },
    onError: () => toast.error('Could not save'),
  });
  return (
    <section className="card settings-section" aria-labelledby="recording-heading">
      <h2 id="recording-heading">Recording</h2>
      <label className="checkbox">
        <input
          type="checkbox"
          data-testid="recording-enabled"
          checked={setting.data?.enabled ?? false}
          disabled={!setting.data || save.isPending}
          onChange={(e) => save.mutate(e.target.checked)}
        />{' '}
        Record my streams as past broadcasts
      </label>
      <p className="hint">From your next stream on. Viewers find past broadcasts under Videos on your channel; you can rename, make private or delete each.</p>
    </section>
  );
}
