// Vite's ?raw imports (text files bundled as strings), for main-side code.
declare module '*?raw' {
  const text: string;
  export default text;
}
