import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { ActionsPanel } from './ActionsPanel';

const product = (n: number) => ({
  asin: `B0${n}`,
  title: `Sneaker ${n}`,
  productURL: `https://www.amazon.com/dp/B0${n}?tag=ch_abc-20`,
  images: { small: null, medium: null, large: { url: `https://m.media-amazon.com/${n}.jpg` } },
  price: { displayAmount: `$${n}.00` },
  merchantInfo: null,
});

describe('Amazon product action', () => {
  it('searches, pages and sends the chosen product', async () => {
    const calls = mockFetch({
      'GET /api/me/stream-actions': { status: 200, body: { active: null, saved: {} } },
      'GET /api/config': { status: 200, body: { amazonProduct: true } },
      'GET /api/products?keywords=sneakers&sortBy=Price%3ALowToHigh&page=1': { status: 200, body: { items: Array.from({ length: 10 }, (_, i) => product(i)), hasMore: true } },
      'GET /api/products?keywords=sneakers&sortBy=Price%3ALowToHigh&page=2': { status: 200, body: { items: [product(10)], hasMore: false } },
      'POST /api/me/stream-actions': { status: 201, body: { id: 'sa-1', name: 'amazon_product', data: {}, startedAt: new Date().toISOString() } },
    });
    const user = userEvent.setup();
    renderAt(<ActionsPanel />);
    await user.click(await screen.findByTestId('stream-manager-amazon_product-action-button'));
    expect(screen.getByRole('heading', { name: 'Feature an Amazon product' })).toBeInTheDocument();
    await user.type(screen.getByLabelText('Keyword'), 'sneakers');
    await user.selectOptions(screen.getByLabelText('Sort by'), 'Price:LowToHigh');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    expect(await screen.findByText('Sneaker 9')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Load more' }));
    expect(await screen.findByText('Sneaker 10')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
    await user.click(screen.getByText('Sneaker 3'));
    await user.click(screen.getByRole('button', { name: 'Show product' }));
    await waitFor(() => expect(calls.find((c) => c.key === 'POST /api/me/stream-actions')).toBeDefined());
    expect(calls.find((c) => c.key === 'POST /api/me/stream-actions')!.body).toEqual({
      name: 'amazon_product',
      data: { title: 'Sneaker 3', price: '$3.00', imageUrl: 'https://m.media-amazon.com/3.jpg', productUrl: 'https://www.amazon.com/dp/B03?tag=ch_abc-20' },
    });
    expect(await screen.findByText('Feature an Amazon product started')).toBeInTheDocument();
  });
});
