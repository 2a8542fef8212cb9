import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useState, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useParams } from 'react-router';
import { ToastProvider } from '../lib/toast';
import { LoginPage } from '../features/auth/components/LoginPage';
import { RegisterPage } from '../features/auth/components/RegisterPage';
import { ResetPage } from '../features/auth/components/ResetPage';
import { ChannelPage } from '../features/channels/components/ChannelPage';
import { BellButton } from '../features/notifications/components/BellButton';
import { ChatPanel } from '../features/chat/components/ChatPanel';
import { DirectoryPage } from '../features/channels/components/DirectoryPage';
import { FollowingPage } from '../features/channels/components/FollowingPage';
import { ViewerOverlay } from '../features/actions/components/ViewerOverlay';
import { PollCard } from '../features/polls/components/PollCard';
import { AppShell } from './AppShell';
import { GoLiveIntro } from './GoLiveIntro';
import { GuestOnly, RequireAuth } from './guards';
import { Spinner } from '../components/Spinner';
import { useMe } from '../lib/session';

export function Providers({ children }: { children: ReactNode }) {
  const [client] = useState(() => new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: true } } }));
  return (
    <QueryClientProvider client={client}>
      <ToastProvider>{children}</ToastProvider>
    </QueryClientProvider>
  );
}

const chatPanel = (c: { username: string; isOwner: boolean; isBanned: boolean }) => (
  <ChatPanel key={c.username} channel={c.username} isOwner={c.isOwner} isBanned={c.isBanned} />
);

const overlay = (c: { username: string; color: string; isLive: boolean; placement: 'player' | 'tab'; stacked: boolean }) => (
  <ViewerOverlay channel={c.username} color={c.color} live={c.isLive} placement={c.placement} stacked={c.stacked} />
);

// liveOverlay is a live channel's: its stream actions and its poll (tallied by the server,
// updated over chat), over the player or in the tab beside chat on stacked layouts.
const liveOverlay = (c: { username: string; color: string; isLive: boolean; placement: 'player' | 'tab'; stacked: boolean }) => (
  <>
    {overlay(c)}
    {c.isLive && c.placement === (c.stacked ? 'tab' : 'player') && <PollCard key={c.username} channel={c.username} color={c.color} />}
  </>
);

// The streamer's pages load on demand: a viewer's first visit downloads none of them.
const HealthPage = lazy(() => import('../features/health/components/HealthPage').then((m) => ({ default: m.HealthPage })));
const Manager = lazy(() => import('./Manager').then((m) => ({ default: m.Manager })));
const SettingsPage = lazy(() => import('./SettingsPage').then((m) => ({ default: m.SettingsPage })));

const page = (p: ReactNode) => <Suspense fallback={<main className="page"><Spinner /></main>}>{p}</Suspense>;

const Player = lazy(() => import('../features/channels/components/Player').then((m) => ({ default: m.Player })));

// ownPlayer is the health page's small player of the streamer's own channel (title is its
// username: the viewing beacon renews the playback token on src).
const ownPlayer = (src: string, title: string) => (
  <section className="player" aria-label="Video player" data-testid="own-player">
    <Suspense fallback={null}>
      <Player src={src} title={title} channel={title} />
    </Suspense>
  </section>
);

// Past broadcasts load on demand, like the streamer's pages.
const VideoList = lazy(() => import('../features/videos/components/VideoList').then((m) => ({ default: m.VideoList })));
const VideosPage = lazy(() => import('../features/videos/components/VideoList').then((m) => ({ default: m.VideosPage })));
const VideoPage = lazy(() => import('../features/videos/components/VideoPage').then((m) => ({ default: m.VideoPage })));

// videoList is the channel page's list of past broadcasts, under the player when offline.
const videoList = (username: string) => (
  <Suspense fallback={null}>
    <VideoList username={username} />
  </Suspense>
);

// The stage (WebRTC, its own chunk) loads only on a channel that has one open.
const StageWatch = lazy(() => import('../features/stages/components/StageWatch').then((m) => ({ default: m.StageWatch })));
const stageWatch = (c: { username: string; playbackToken?: string; me?: string }) => (
  <Suspense fallback={null}>
    <StageWatch key={c.username} username={c.username} playbackToken={c.playbackToken} me={c.me} />
  </Suspense>
);

// bellButton rings a followed channel's go-live notices, beside Follow.
const bellButton = (username: string) => <BellButton username={username} />;
// An invite link to a private channel loads on demand too.
const InvitePage = lazy(() => import('../features/privacy/components/InvitePage').then((m) => ({ default: m.InvitePage })));

function ChannelVideos() {
  const { username = '' } = useParams();
  return page(<VideosPage username={username} />);
}

function ChannelVideo() {
  const { username = '', id = '' } = useParams();
  const me = useMe();
  const isOwner = me.data?.username.toLowerCase() === username.toLowerCase();
  // Stream actions replay over the video, keyed by the recording rather than the channel.
  const vodOverlay = (cues: string) => overlay({ username: cues, color: 'blue', isLive: true, placement: 'player', stacked: false });
  return page(<VideoPage key={id} username={username} id={id} isOwner={isOwner} overlay={vodOverlay} />);
}

// ToChannel sends unknown channel subpaths to the channel page, as the reference does.
function ToChannel() {
  const { username = '' } = useParams();
  return <Navigate to={`/${username}`} replace />;
}

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<AppShell />}>
        <Route index element={<DirectoryPage intro={<GoLiveIntro />} />} />
        <Route path="following" element={<RequireAuth><FollowingPage /></RequireAuth>} />
        <Route path="settings" element={<RequireAuth>{page(<SettingsPage />)}</RequireAuth>} />
        <Route path="manager/*" element={<RequireAuth>{page(<Manager />)}</RequireAuth>} />
        <Route path="health" element={<RequireAuth>{page(<HealthPage player={ownPlayer} />)}</RequireAuth>} />
        <Route path="health/:sessionId" element={<RequireAuth>{page(<HealthPage player={ownPlayer} />)}</RequireAuth>} />
        <Route path="health/*" element={<Navigate to="/health" replace />} />
        <Route path="login" element={<GuestOnly><LoginPage /></GuestOnly>} />
        <Route path="register" element={<GuestOnly><RegisterPage /></GuestOnly>} />
        <Route path="reset" element={<GuestOnly><ResetPage /></GuestOnly>} />
        <Route path=":username" element={<ChannelPage chat={chatPanel} overlay={liveOverlay} videos={videoList} bell={bellButton} stage={stageWatch} />} />
        <Route path=":username/profile" element={<ChannelPage profile chat={chatPanel} overlay={liveOverlay} videos={videoList} bell={bellButton} stage={stageWatch} />} />
        <Route path=":username/videos" element={<ChannelVideos />} />
        <Route path=":username/videos/:id" element={<ChannelVideo />} />
        <Route path=":username/invite/:code" element={page(<InvitePage />)} />
        <Route path=":username/*" element={<ToChannel />} />
      </Route>
    </Routes>
  );
}

export function App() {
  return (
    <Providers>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </Providers>
  );
}
