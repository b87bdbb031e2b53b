/**
 * The submit handler of the console's forms: it hands the fields over and keeps what was typed.
 * React resets every uncontrolled field once a `<form action={fn}>` function returns, so a refused
 * value, a query just run or a dry run's figures would vanish from the form that produced them.
 */
export function keepInput(handler: (fields: FormData, form: HTMLFormElement) => void) {
  return (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    handler(new FormData(event.currentTarget), event.currentTarget);
  };
}
