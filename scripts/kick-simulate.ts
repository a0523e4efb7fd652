// Invokes the simulate function once through serverless-offline's Lambda endpoint as soon as it
// answers, so `npm start` shows rows without waiting for the schedule's next minute boundary.
const endpoint = 'http://127.0.0.1:3002/2015-03-31/functions/medstream-local-simulate/invocations';
const deadline = Date.now() + 120_000;

const kick = async (): Promise<void> => {
  while (Date.now() < deadline) {
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        body: JSON.stringify({ source: 'medstream.start' }),
      });
      if (response.ok) {
        console.log('medstream: first simulate tick invoked');
        return;
      }
    } catch {
      // serverless-offline is not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  console.error('medstream: simulate could not be invoked within 120 s; the schedule will run it');
};

void kick();
