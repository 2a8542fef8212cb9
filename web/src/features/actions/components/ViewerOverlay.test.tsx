import { act, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { receiveCue } from '../../../lib/timed-metadata';
import { ViewerOverlay } from './ViewerOverlay';

const cue = (id: string, name: string, data: Record<string, unknown>) => ({ id, at: '', elapsedMs: 0, event: { name, data } });

describe('ViewerOverlay', () => {
  it('shows an Amazon product with a Buy now link to its tagged page, over the player on wide screens only', () => {
    const { rerender } = render(<ViewerOverlay channel="shop" color="blue" live placement="player" stacked={false} />);
    act(() => receiveCue('shop', cue('sa-1', 'amazon_product', { title: 'Sneaker', price: '$3.00', imageUrl: 'https://m.media-amazon.com/3.jpg', productUrl: 'https://www.amazon.com/dp/B03?tag=ch_abc-20' })));
    expect(screen.getByTestId('amazon-product-overlay')).toHaveTextContent('Sneaker');
    expect(screen.getByRole('link', { name: 'Buy now on Amazon' })).toHaveAttribute('href', 'https://www.amazon.com/dp/B03?tag=ch_abc-20');
    rerender(<ViewerOverlay channel="shop" color="blue" live placement="player" stacked />);
    expect(screen.queryByTestId('amazon-product-overlay')).toBeNull();
    rerender(<ViewerOverlay channel="shop" color="blue" live placement="tab" stacked />);
    expect(screen.getByTestId('amazon-product-overlay')).toBeInTheDocument();
  });

  it('keeps notices over the player and in the streamer’s color', () => {
    render(<ViewerOverlay channel="news" color="yellow" live placement="player" stacked />);
    act(() => receiveCue('news', cue('sa-2', 'notice', { title: '200k subs', message: 'Thanks all!', duration: 15 })));
    const notice = screen.getByTestId('notice-overlay');
    expect(notice).toHaveTextContent('200k subs');
    expect(notice.style.getPropertyValue('--action-bg')).toBe('#ffd23f');
  });
});
