import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockFetch } from '../test/render';
import { Providers } from './App';
import { AppShell } from './AppShell';
import { GuestOnly, RequireAuth } from './guards';
import { alice } from '../test/fixtures';

afterEach(() => vi.unstubAllGlobals());

const me = alice;
const signedIn = { 'GET /api/session': { status: 200, body: { user: me } } };
const signedOut = { 'GET /api/session': { status: 200, body: { user: null } } };

function Where() {
  const location = useLocation();
  return <p data-testid="where">{location.pathname + JSON.stringify(location.state)}</p>;
}

function renderApp(route: string) {
  return render(
    <Providers>
      <MemoryRouter initialEntries={[route]}>
        <Routes>
          <Route element={<AppShell />}>
            <Route index element={<Where />} />
            <Route path="settings" element={<RequireAuth><p>settings page</p></RequireAuth>} />
            <Route path="login" element={<GuestOnly><Where /></GuestOnly>} />
          </Route>
        </Routes>
      </MemoryRouter>
    </Providers>,
  );
}

describe('AppShell', () => {
  it('shows the navigation, and Log in / Sign up when signed out', async () => {
    mockFetch(signedOut);
    renderApp('/');
    for (const label of ['Home', 'Following', 'Stream health', 'Stream manager', 'Settings']) {
      expect(screen.getByRole('link', { name: label })).toBeInTheDocument();
    }
    expect(await screen.findByRole('link', { name: 'Log in' })).toHaveAttribute('href', '/login');
    expect(screen.getByRole('link', { name: 'Sign up' })).toHaveAttribute('href', '/register');
    expect(screen.queryByTestId('sidebar-avatar')).not.toBeInTheDocument();
    expect(screen.getByTestId('floating-menu-toggle')).toBeInTheDocument();
  });

  it('logs out from the profile menu and goes home signed out', async () => {
    const calls = mockFetch({ ...signedIn, 'POST /api/auth/logout': { status: 204 } });
    renderApp('/settings');
    expect(await screen.findByText('settings page')).toBeInTheDocument();
    await userEvent.click(await screen.findByTestId('sidebar-avatar'));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Log out' }));
    expect(await screen.findByRole('link', { name: 'Log in' })).toBeInTheDocument();
    expect(await screen.findByTestId('where')).toHaveTextContent(/^\/null$/);
    expect(calls.map((c) => c.key)).toContain('POST /api/auth/logout');
  });
});

describe('AppShell menus', () => {
  it('closes the menu on Escape and on its backdrop, giving focus back to the menu button', async () => {
    mockFetch(signedOut);
    renderApp('/');
    const toggle = screen.getByTestId('floating-menu-toggle');
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await userEvent.click(screen.getByTestId('menu-backdrop'));
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    expect(screen.queryByTestId('menu-backdrop')).not.toBeInTheDocument();

    await userEvent.click(toggle);
    await userEvent.tab();
    await userEvent.keyboard('{Escape}');
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    expect(toggle).toHaveFocus();
  });

  it('closes the profile menu on Escape, with focus back on the avatar button', async () => {
    mockFetch(signedIn);
    renderApp('/');
    const avatar = await screen.findByTestId('sidebar-avatar');
    await userEvent.click(avatar);
    expect(screen.getByRole('menu')).toBeInTheDocument();
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('menu')).not.toBeInTheDocument();
    expect(avatar).toHaveFocus();
  });

  it('titles each page and has a skip link to the content', async () => {
    mockFetch(signedOut);
    renderApp('/');
    expect(document.title).toBe('Live channels — Livehouse');
    await userEvent.click(screen.getByRole('link', { name: 'Skip to content' }));
    expect(document.getElementById('content')).toHaveFocus();
  });
});

describe('route guards', () => {
  it('send a signed-out visitor of a private page to /login, remembering the page', async () => {
    mockFetch(signedOut);
    renderApp('/settings?tab=account');
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent('/login{"from":"/settings?tab=account"}'));
    expect(screen.queryByText('settings page')).not.toBeInTheDocument();
  });

  it('send a signed-in user away from /login', async () => {
    mockFetch(signedIn);
    renderApp('/login');
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/null$/));
  });

  it('let a signed-in user open an emailed /login?code= link', async () => {
    mockFetch(signedIn);
    renderApp('/login?code=abc&username=alice');
    expect(await screen.findByTestId('sidebar-avatar')).toBeInTheDocument();
    expect(screen.getByTestId('where')).toHaveTextContent(/^\/login/);
  });
});
