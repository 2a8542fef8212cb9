import { useMe } from '../lib/session';
import { Spinner } from '../components/Spinner';
import { AccountSettings } from '../features/account/components/AccountSettings';
import { ChannelSettings } from '../features/channels/components/ChannelSettings';
import { StreamSettings } from '../features/channels/components/StreamSettings';
import { NotificationSettings } from '../features/notifications/components/NotificationSettings';
import { RecordingSettings } from '../features/videos/components/RecordingSettings';
import { PrivacySettings } from '../features/privacy/components/PrivacySettings';

// SettingsPage composes the features' settings sections.
export function SettingsPage() {
  const me = useMe();
  if (!me.data) return <Spinner />;
  return (
    <main className="page settings">
      <h1>Settings</h1>
      <StreamSettings me={me.data} />
      <RecordingSettings />
      <PrivacySettings me={me.data.username} />
      <ChannelSettings me={me.data} />
      <NotificationSettings />
      <AccountSettings me={me.data} key={me.data.username} />
    </main>
  );
}
