/**
 * The Goals page's Train now is a plain form (POST + CSRF field) that answers when the training is
 * done, seconds or more later: this only says so while it runs, and keeps a second click from
 * sending a second request (the server would refuse it as busy or too soon anyway).
 */
export function initGoals(): void {
  for (const form of document.querySelectorAll<HTMLFormElement>('form.train')) {
    form.addEventListener('submit', (e) => {
      const button = form.querySelector('button');
      if (form.dataset.sent) {
        e.preventDefault();
        return;
      }
      form.dataset.sent = '1';
      if (button) button.setAttribute('aria-disabled', 'true');
      const status = form.querySelector<HTMLElement>('.train-status');
      if (status) status.textContent = 'Training… the page comes back when it is done.';
    });
  }
}
