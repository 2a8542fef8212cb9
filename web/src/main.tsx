import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { beforeFirstRender } from './app/first-render';
import { preloadPlayer } from './features/channels/components/ChannelPage';
import './styles.css';

// On a live channel page the video goes first (app/first-render.ts), and the Player's chunk
// is ready by the first render.
const prefetch = window.livehousePrefetch;
void beforeFirstRender(prefetch, prefetch && preloadPlayer()).then(() =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  ),
);
