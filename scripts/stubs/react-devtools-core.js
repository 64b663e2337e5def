// Stands in for react-devtools-core (an optional peer of ink that x2 never loads): ink's
// devtools.js imports it statically, so the bundle needs something to resolve.
export default { initialize() {}, connectToDevTools() {} };
