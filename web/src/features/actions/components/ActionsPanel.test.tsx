import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { ActionsPanel } from './ActionsPanel';

const started = { id: 'sa-1', name: 'quiz', data: {}, duration: 15, startedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 15_000).toISOString() };

describe('ActionsPanel', () => {
  it('checks a quiz before sending it and sends what the form holds', async () => {
    const calls = mockFetch({
      'GET /api/me/stream-actions': { status: 200, body: { active: null, saved: {} } },
      'GET /api/config': { status: 200, body: { amazonProduct: false } },
      'POST /api/me/stream-actions': { status: 201, body: started },
    });
    const user = userEvent.setup();
    renderAt(<ActionsPanel />);
    await user.click(await screen.findByTestId('stream-manager-quiz-action-button'));
    await user.type(screen.getByPlaceholderText('Question'), 'Capital of Canada?');
    const answers = screen.getAllByPlaceholderText('Answer');
    await user.type(answers[0], 'Vancouver');
    await user.type(answers[1], 'Vancouver');
    await user.type(answers[2], 'Calgary');
    await user.click(screen.getByRole('button', { name: 'Start quiz' }));
    expect(screen.getByTestId('stream-action-error')).toHaveTextContent('Duplicate answer: each answer must be unique.');
    await user.clear(answers[1]);
    await user.type(answers[1], 'Ottawa');
    const duration = screen.getByLabelText('Duration');
    await user.clear(duration);
    await user.type(duration, '40');
    await user.click(screen.getByRole('button', { name: 'Start quiz' }));
    expect(screen.getByTestId('stream-action-error')).toHaveTextContent('Duration must be between 5 and 30 seconds.');
    expect(calls.some((c) => c.key === 'POST /api/me/stream-actions')).toBe(false);

    await user.clear(duration);
    await user.type(duration, '25');
    await user.click(screen.getByTestId('streamManagerActionQuizFormAnswers-Ottawa-radio-button'));
    await user.click(screen.getByRole('button', { name: 'Start quiz' }));
    await waitFor(() => expect(calls.find((c) => c.key === 'POST /api/me/stream-actions')).toBeDefined());
    expect(calls.find((c) => c.key === 'POST /api/me/stream-actions')!.body).toEqual({
      name: 'quiz',
      data: { question: 'Capital of Canada?', answers: ['Vancouver', 'Ottawa', 'Calgary'], correctAnswerIndex: 1, duration: 25 },
    });
    expect(await screen.findByText('Host a quiz started')).toBeInTheDocument();
    expect(screen.getByTestId('stream-manager-quiz-action-button')).toHaveTextContent('Hosting');
  });

  it('adds and removes answers between 3 and 5', async () => {
    mockFetch({
      'GET /api/me/stream-actions': { status: 200, body: { active: null, saved: {} } },
      'GET /api/config': { status: 200, body: { amazonProduct: false } },
    });
    const user = userEvent.setup();
    renderAt(<ActionsPanel />);
    await user.click(await screen.findByTestId('stream-manager-quiz-action-button'));
    expect(screen.getAllByPlaceholderText('Answer')).toHaveLength(3);
    await user.click(screen.getByRole('button', { name: 'Add answer' }));
    const answers = screen.getAllByPlaceholderText('Answer');
    expect(answers).toHaveLength(4);
    await user.type(answers[3], 'Paris');
    await user.click(screen.getByTestId('delete-Paris-item-button'));
    expect(screen.getAllByPlaceholderText('Answer')).toHaveLength(3);
    expect(screen.queryByTestId('stream-manager-amazon_product-action-button')).toBeNull();
  });
});
