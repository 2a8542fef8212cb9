import { ActionsPanel } from '../features/actions/components/ActionsPanel';
import { BroadcastCard } from '../features/broadcast/components/BroadcastCard';
import { StageMix } from '../features/broadcast/lib/stageMix';
import { ChannelPreview } from '../features/channels/components/ChannelPreview';
import { StreamInfoForm } from '../features/channels/components/StreamInfoForm';
import { ChatControls } from '../features/chat/components/ChatControls';
import { ChatPanel } from '../features/chat/components/ChatPanel';
import { EncoderLimitWarning } from '../features/health/components/EncoderLimitWarning';
import { StreamStatusBar } from '../features/health/components/StreamStatusBar';
import { ManagerPage } from '../features/manager/components/ManagerPage';
import { PollManager } from '../features/polls/components/PollManager';
import { StageCard } from '../features/stages/components/StageCard';
import { useMe } from '../lib/session';

// Manager composes the stream manager for the signed-in streamer (its own chunk: viewers
// never load the broadcast and action code).
export function Manager() {
  const me = useMe();
  const username = me.data?.username ?? '';
  const streamKey = me.data?.channel.streamKey;
  // The stage's mix goes out as the channel's stream over WHIP, composed in this browser.
  const createMix = streamKey ? () => new StageMix('/api/whip', streamKey) : undefined;
  return (
    <ManagerPage
      status={
        <>
          <StreamStatusBar monitorLink />
          <EncoderLimitWarning />
        </>
      }
      info={me.data ? <StreamInfoForm me={me.data} /> : null}
      broadcast={
        <>
          <BroadcastCard />
          {username && <StageCard username={username} createMix={createMix} />}
        </>
      }
      actions={
        <>
          <ActionsPanel />
          {username && <PollManager channel={username} />}
          {username && <ChatControls channel={username} />}
        </>
      }
      preview={username ? <ChannelPreview username={username} /> : null}
      chat={username ? <ChatPanel key={username} channel={username} isOwner isBanned={false} /> : null}
    />
  );
}
