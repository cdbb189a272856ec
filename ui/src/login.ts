/** The login page's only script: says so when the last sign-in failed. Imports nothing of the app's. */
import './login.css';

const failed = new URLSearchParams(location.search).get('failed');
const box = document.getElementById('login-error');
if (failed !== null && box) {
  box.textContent = "That token is not the daemon's token.";
  box.classList.add('shown');
}
