/** The x2 version, set by the bundle from package.json (X2_VERSION define); sources read it too. */
declare const X2_BUILD_VERSION: string | undefined;

export const VERSION: string =
  typeof X2_BUILD_VERSION === 'string' ? X2_BUILD_VERSION : '0.1.0-dev';
