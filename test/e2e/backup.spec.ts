// The "Back up" entry of the top bar: one click writes a backup file of the running workspace
// (its database and models) and says where; the file is a complete backup (restorable).
import { existsSync, statSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { appUrl } from './env';

test('Back up writes a backup of the running workspace and names the file', async ({ page }) => {
  await page.goto(appUrl());
  const button = page.getByTestId('backup-button');
  await expect(button).toHaveText('Back up');
  await button.click();
  const notice = page.getByText(/^Backup written: /);
  await expect(notice).toBeVisible();
  const path = /Backup written: (\S+\.simlens-backup)/.exec((await notice.textContent()) ?? '')?.[1];
  expect(path).toMatch(/\.simlens-backup$/);
  expect(existsSync(path!)).toBe(true);
  expect(statSync(path!).size).toBeGreaterThan(10_000);
  await expect(button).toBeEnabled();
});
