import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { avatars } from '../lib/profile';
import { Avatar } from './Avatar';

describe('Avatar', () => {
  it.each(avatars)('draws the built-in %s', (kind) => {
    const { container } = render(<Avatar username="alice" avatar={kind} color="blue" />);
    expect(container.querySelector('svg')?.childElementCount).toBeGreaterThan(2);
  });

  it('shows an uploaded picture for custom', () => {
    const { container } = render(<Avatar username="alice" avatar="custom" avatarUrl="/api/assets/ch/avatar/v1" color="blue" />);
    expect(container.querySelector('img')).toHaveAttribute('src', '/api/assets/ch/avatar/v1');
    expect(screen.getByRole('img', { name: "alice's avatar" })).toBeInTheDocument();
  });

  it('falls back to the initial for an unknown name', () => {
    render(<Avatar username="zed" avatar="dragon" color="blue" />);
    expect(screen.getByRole('img', { name: "zed's avatar" })).toHaveTextContent('Z');
  });
});
