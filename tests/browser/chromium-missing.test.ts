import { describe, expect, it } from 'vitest';
import { launchChromium } from './support';

describe('Console: the browser suite without chromium', () => {
  it('fails saying exactly what to install, instead of passing by running nothing', async () => {
    // act
    const launched = launchChromium('/nonexistent/chromium');
    // assess
    await expect(launched).rejects.toThrow('apt-get install -y chromium');
    await expect(launched).rejects.toMatchObject({ name: 'ChromiumMissingError' });
  });
});
