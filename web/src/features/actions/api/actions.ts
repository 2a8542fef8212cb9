import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../../lib/api-client';

export type ActionName = 'quiz' | 'product' | 'amazon_product' | 'notice' | 'celebration';

export type QuizData = { question: string; answers: string[]; correctAnswerIndex: number; duration: number };
export type ProductData = { title: string; price: string; imageUrl: string; description: string };
export type NoticeData = { title: string; message: string; duration: number };
export type CelebrationData = { duration: number };
export type AmazonProductData = { title: string; price: string; imageUrl: string; productUrl: string };

export type ActionData = {
  quiz: QuizData;
  product: ProductData;
  notice: NoticeData;
  celebration: CelebrationData;
  amazon_product: AmazonProductData;
};

export type StreamAction = {
  id: string;
  name: ActionName;
  data: Record<string, unknown>;
  duration?: number;
  startedAt: string;
  expiresAt?: string;
};

type State = { active: StreamAction | null; saved: Partial<ActionData> };

// The reference's limits and defaults (its STREAM_MANAGER_ACTION_LIMITS and utils.js).
export const limits = {
  quiz: { question: 256, answer: 128, answersMin: 3, answersMax: 5 },
  product: { title: 32, price: 10, imageUrl: 256, description: 256 },
  notice: { title: 24, message: 256 },
  duration: { min: 5, max: 30 },
  amazonKeyword: 150,
};

export const defaults: ActionData = {
  quiz: { question: '', answers: ['', '', ''], correctAnswerIndex: 0, duration: 15 },
  product: { title: '', price: '', imageUrl: '', description: '' },
  notice: { title: '', message: '', duration: 15 },
  celebration: { duration: 10 },
  amazon_product: { title: '', price: '', imageUrl: '', productUrl: '' },
};

const key = ['stream-actions'] as const;

export function useStreamActions(enabled = true) {
  return useQuery({ queryKey: key, queryFn: () => api<State>('GET', '/api/me/stream-actions'), enabled, refetchInterval: 5000 });
}

export type ActionInput = { name: ActionName; data: ActionData[ActionName] };

export function useStartAction() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (a: ActionInput) => api<StreamAction>('POST', '/api/me/stream-actions', a),
    onSuccess: (active, a) =>
      qc.setQueryData<State>(key, (s) => ({ active, saved: a.name === 'amazon_product' ? (s?.saved ?? {}) : { ...s?.saved, [a.name]: active.data } })),
  });
}

export function useStopAction() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api('DELETE', '/api/me/stream-actions'),
    onSuccess: () => qc.setQueryData<State>(key, (s) => ({ active: null, saved: s?.saved ?? {} })),
  });
}

export function useSaveAction() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (a: ActionInput) => api<ActionData[ActionName]>('PUT', `/api/me/stream-actions/saved/${a.name}`, a.data as unknown as Record<string, unknown>),
    onSuccess: (data, a) => qc.setQueryData<State>(key, (s) => ({ active: s?.active ?? null, saved: { ...s?.saved, [a.name]: data } })),
  });
}

// Amazon product search (GET /api/products), when the server has it enabled.
export type ProductResult = { asin?: string; title: string; price: string; imageUrl: string; productUrl: string };

type Img = { url: string | null } | null;
type ApiProduct = { asin: string; title: string; productURL: string; images: { small: Img; medium: Img; large: Img }; price: { displayAmount: string | null } | null };

export async function searchProducts(keywords: string, sortBy: string, page: number): Promise<{ items: ProductResult[]; hasMore: boolean }> {
  const q = new URLSearchParams({ keywords, sortBy, page: String(page) });
  const r = await api<{ items: ApiProduct[]; hasMore: boolean }>('GET', `/api/products?${q}`);
  return {
    hasMore: r.hasMore,
    items: r.items.map((p) => ({
      asin: p.asin,
      title: p.title,
      productUrl: p.productURL,
      price: p.price?.displayAmount ?? '',
      imageUrl: p.images.large?.url ?? p.images.medium?.url ?? p.images.small?.url ?? '',
    })),
  };
}
